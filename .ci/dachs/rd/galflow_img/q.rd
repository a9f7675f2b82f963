<!-- Survey-like FITS images for cutout tests: SIAP v1 here, SIAv2 through ivoa.obscore.
     Served by the CI DaCHS of astro_galflow (see .ci/dachs/setup_dachs.sh). -->
<resource schema="galflow_img" resdir=".">
  <meta name="creationDate">2026-01-01T00:00:00Z</meta>
  <meta name="title">astro_galflow CI images</meta>
  <meta name="description">Simulated single-band images (nanomaggies per pixel, TAN WCS)
    around catalog galaxies: SDSS gri at 0.396"/pix, LSST gri at 0.2"/pix, Roman
    Y106/J129/H158 at 0.11"/pix; used only for offline tests.</meta>
  <meta name="subject">galaxies</meta>
  <meta name="creator">astro_galflow CI</meta>
  <meta name="contentLevel">Research</meta>
  <meta name="type">Archive</meta>
  <meta name="coverage.waveband">Optical</meta>

  <table id="main" onDisk="True" mixin="//siap#pgs" adql="True">
    <mixin
      calibLevel="2"
      collectionName="survey"
      targetName="object"
    >//obscore#publishSIAP</mixin>
    <column name="object" type="text" ucd="meta.id;src"
      description="Target name" verbLevel="15"/>
    <column name="survey" type="text" ucd="meta.id;instr.setup"
      description="Survey the image mimics (sdss, lsst, roman)" verbLevel="15"/>
  </table>

  <data id="import">
    <sources pattern="data/*.fits"/>
    <fitsProdGrammar>
      <rowfilter procDef="//products#define">
        <bind key="table">"\schema.main"</bind>
      </rowfilter>
    </fitsProdGrammar>
    <make table="main">
      <rowmaker>
        <apply procDef="//siap#setMeta">
          <bind key="dateObs">@DATE_OBS</bind>
          <bind key="bandpassId">@FILTER</bind>
          <bind key="bandpassUnit">"m"</bind>
          <bind key="bandpassRefval">float(@WAVEREF)</bind>
          <bind key="bandpassLo">float(@WAVEMIN)</bind>
          <bind key="bandpassHi">float(@WAVEMAX)</bind>
          <bind key="pixflags">"F"</bind>
          <bind key="title">"{} {} {}".format(@SURVEY, @OBJECT, @FILTER)</bind>
        </apply>
        <apply procDef="//siap#computePGS"/>
        <map key="object">@OBJECT</map>
        <map key="survey">@SURVEY</map>
      </rowmaker>
    </make>
  </data>

  <service id="i" allowed="form,siap.xml">
    <meta name="shortName">galflow img siap</meta>
    <meta name="sia.type">Pointed</meta>
    <meta name="testQuery.pos.ra">62.0</meta>
    <meta name="testQuery.pos.dec">-37.0</meta>
    <meta name="testQuery.size.ra">0.1</meta>
    <meta name="testQuery.size.dec">0.1</meta>
    <publish render="siap.xml" sets="ivo_managed"/>
    <publish render="form" sets="local,ivo_managed"/>
    <dbCore queriedTable="main">
      <condDesc original="//siap#protoInput"/>
      <condDesc original="//siap#humanInput"/>
    </dbCore>
  </service>
</resource>
