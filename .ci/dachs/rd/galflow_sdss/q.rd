<!-- SDSS CAS tables (CI mirror): served by the CI DaCHS of astro_galflow (see .ci/dachs/setup_dachs.sh). -->
<resource schema="dbo" resdir=".">
  <meta name="creationDate">2026-01-01T00:00:00Z</meta>
  <meta name="title">SDSS CAS tables (CI mirror)</meta>
  <meta name="description">Real SDSS SpecPhoto/PhotoObj/galSpecLine rows (332 objects) with simulated galSpecInfo/galSpecExtra columns, in the CAS schema, for offline tests.</meta>
  <meta name="subject">galaxies</meta>
  <meta name="creator">astro_galflow CI</meta>
  <meta name="contentLevel">Research</meta>
  <meta name="type">Catalog</meta>
  <meta name="coverage.waveband">Optical</meta>

  <table id="specphoto" onDisk="True" mixin="//scs#q3cindex" adql="True">
    <meta name="description">SpecPhoto view: spectroscopic objects with their photometry.</meta>
    <primary>specobjid</primary>
    <column name="specobjid" type="bigint" ucd="meta.id" verbLevel="1"
      description="Spectroscopic object id (CAS specObjID)."/>
    <column name="objid" type="bigint" ucd="meta.id;meta.main" verbLevel="1"
      description="Photometric object id (CAS objID)."/>
    <column name="ra" type="double precision" unit="deg" ucd="pos.eq.ra;meta.main" verbLevel="1"
      description="ICRS right ascension."/>
    <column name="dec" type="double precision" unit="deg" ucd="pos.eq.dec;meta.main" verbLevel="1"
      description="ICRS declination."/>
    <column name="z" type="real" ucd="src.redshift" verbLevel="1"
      description="Spectroscopic redshift."/>
    <column name="zerr" type="real" verbLevel="1"
      description="Redshift error."/>
    <column name="zwarning" type="integer" ucd="meta.code" verbLevel="1"
      description="Redshift warning flags."/>
    <column name="class" type="text" ucd="src.class" verbLevel="1"
      description="Spectroscopic class."/>
    <column name="plate" type="integer" verbLevel="1"
      description="Plate."/>
    <column name="mjd" type="integer" verbLevel="1"
      description="MJD of observation."/>
    <column name="fiberid" type="integer" verbLevel="1"
      description="Fiber."/>
    <column name="type" type="integer" ucd="src.morph.type" verbLevel="1"
      description="Photometric morphology (3 galaxy, 6 star)."/>
    <column name="legacy_target1" type="bigint" ucd="meta.code" verbLevel="1"
      description="Legacy target bits; 0x40 is the Main Galaxy Sample (SIMULATED from petroMag_r - extinction_r le 17.77)."/>
    <column name="petromag_r" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="Petrosian r magnitude."/>
    <column name="modelmag_u" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="Model magnitude u."/>
    <column name="modelmag_g" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="Model magnitude g."/>
    <column name="modelmag_r" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="Model magnitude r."/>
    <column name="modelmag_i" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="Model magnitude i."/>
    <column name="modelmag_z" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="Model magnitude z."/>
    <column name="modelmagerr_u" type="real" unit="mag" ucd="stat.error;phot.mag" verbLevel="1"
      description="Model magnitude error u."/>
    <column name="modelmagerr_g" type="real" unit="mag" ucd="stat.error;phot.mag" verbLevel="1"
      description="Model magnitude error g."/>
    <column name="modelmagerr_r" type="real" unit="mag" ucd="stat.error;phot.mag" verbLevel="1"
      description="Model magnitude error r."/>
    <column name="modelmagerr_i" type="real" unit="mag" ucd="stat.error;phot.mag" verbLevel="1"
      description="Model magnitude error i."/>
    <column name="modelmagerr_z" type="real" unit="mag" ucd="stat.error;phot.mag" verbLevel="1"
      description="Model magnitude error z."/>
    <column name="extinction_u" type="real" unit="mag" ucd="phot.mag;ism.extinction" verbLevel="1"
      description="Galactic extinction u (SFD)."/>
    <column name="extinction_g" type="real" unit="mag" ucd="phot.mag;ism.extinction" verbLevel="1"
      description="Galactic extinction g (SFD)."/>
    <column name="extinction_r" type="real" unit="mag" ucd="phot.mag;ism.extinction" verbLevel="1"
      description="Galactic extinction r (SFD)."/>
    <column name="extinction_i" type="real" unit="mag" ucd="phot.mag;ism.extinction" verbLevel="1"
      description="Galactic extinction i (SFD)."/>
    <column name="extinction_z" type="real" unit="mag" ucd="phot.mag;ism.extinction" verbLevel="1"
      description="Galactic extinction z (SFD)."/>
    <column name="dered_u" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="Extinction-corrected model magnitude u."/>
    <column name="dered_g" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="Extinction-corrected model magnitude g."/>
    <column name="dered_r" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="Extinction-corrected model magnitude r."/>
    <column name="dered_i" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="Extinction-corrected model magnitude i."/>
    <column name="dered_z" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="Extinction-corrected model magnitude z."/>
  </table>
  <table id="photoobj" onDisk="True" mixin="//scs#q3cindex" adql="True">
    <meta name="description">PhotoObj: photometric objects.</meta>
    <primary>objid</primary>
    <column name="objid" type="bigint" ucd="meta.id;meta.main" verbLevel="1"
      description="Photometric object id."/>
    <column name="ra" type="double precision" unit="deg" ucd="pos.eq.ra;meta.main" verbLevel="1"
      description="ICRS right ascension."/>
    <column name="dec" type="double precision" unit="deg" ucd="pos.eq.dec;meta.main" verbLevel="1"
      description="ICRS declination."/>
    <column name="type" type="integer" verbLevel="1"
      description="Morphology."/>
    <column name="modelmag_u" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="Model magnitude u."/>
    <column name="modelmag_g" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="Model magnitude g."/>
    <column name="modelmag_r" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="Model magnitude r."/>
    <column name="modelmag_i" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="Model magnitude i."/>
    <column name="modelmag_z" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="Model magnitude z."/>
    <column name="modelmagerr_u" type="real" unit="mag" ucd="stat.error;phot.mag" verbLevel="1"
      description="Model magnitude error u."/>
    <column name="modelmagerr_g" type="real" unit="mag" ucd="stat.error;phot.mag" verbLevel="1"
      description="Model magnitude error g."/>
    <column name="modelmagerr_r" type="real" unit="mag" ucd="stat.error;phot.mag" verbLevel="1"
      description="Model magnitude error r."/>
    <column name="modelmagerr_i" type="real" unit="mag" ucd="stat.error;phot.mag" verbLevel="1"
      description="Model magnitude error i."/>
    <column name="modelmagerr_z" type="real" unit="mag" ucd="stat.error;phot.mag" verbLevel="1"
      description="Model magnitude error z."/>
    <column name="extinction_u" type="real" unit="mag" ucd="phot.mag;ism.extinction" verbLevel="1"
      description="Galactic extinction u."/>
    <column name="extinction_g" type="real" unit="mag" ucd="phot.mag;ism.extinction" verbLevel="1"
      description="Galactic extinction g."/>
    <column name="extinction_r" type="real" unit="mag" ucd="phot.mag;ism.extinction" verbLevel="1"
      description="Galactic extinction r."/>
    <column name="extinction_i" type="real" unit="mag" ucd="phot.mag;ism.extinction" verbLevel="1"
      description="Galactic extinction i."/>
    <column name="extinction_z" type="real" unit="mag" ucd="phot.mag;ism.extinction" verbLevel="1"
      description="Galactic extinction z."/>
    <column name="petromag_r" type="real" unit="mag" ucd="phot.mag" verbLevel="1"
      description="Petrosian r magnitude."/>
    <column name="petror50_r" type="real" unit="arcsec" ucd="phys.angSize" verbLevel="1"
      description="Petrosian half-light radius r (SIMULATED)."/>
  </table>
  <table id="galspecinfo" onDisk="True" mixin="//scs#q3cindex" adql="True">
    <meta name="description">MPA-JHU galSpecInfo.</meta>
    <primary>specobjid</primary>
    <column name="specobjid" type="bigint" ucd="meta.id" verbLevel="1"
      description="Spectroscopic object id (CAS specObjID)."/>
    <column name="ra" type="double precision" unit="deg" ucd="pos.eq.ra;meta.main" verbLevel="1"
      description="ICRS right ascension."/>
    <column name="dec" type="double precision" unit="deg" ucd="pos.eq.dec;meta.main" verbLevel="1"
      description="ICRS declination."/>
    <column name="z" type="real" ucd="src.redshift" verbLevel="1"
      description="Redshift."/>
    <column name="v_disp" type="real" unit="km/s" ucd="phys.veloc.dispersion" verbLevel="1"
      description="Stellar velocity dispersion (SIMULATED)."/>
    <column name="v_disp_err" type="real" unit="km/s" ucd="stat.error" verbLevel="1"
      description="Velocity dispersion error (SIMULATED)."/>
    <column name="targettype" type="text" verbLevel="1"
      description="Target type, GALAXY for the Main Galaxy Sample (SIMULATED)."/>
    <column name="spectrotype" type="text" verbLevel="1"
      description="Spectroscopic class."/>
    <column name="plateid" type="integer" verbLevel="1"
      description="Plate."/>
    <column name="mjd" type="integer" verbLevel="1"
      description="MJD."/>
    <column name="fiberid" type="integer" verbLevel="1"
      description="Fiber."/>
    <column name="e_bv_sfd" type="real" unit="mag" verbLevel="1"
      description="SFD E(B-V)."/>
  </table>
  <table id="galspecextra" onDisk="True" adql="True">
    <meta name="description">MPA-JHU galSpecExtra (simulated values).</meta>
    <primary>specobjid</primary>
    <column name="specobjid" type="bigint" ucd="meta.id" verbLevel="1"
      description="Spectroscopic object id (CAS specObjID)."/>
    <column name="bptclass" type="integer" verbLevel="1"
      description="BPT class (SIMULATED)."/>
    <column name="lgm_tot_p16" type="real" verbLevel="1"
      description="MPA-JHU log stellar mass p16 (SIMULATED)."/>
    <column name="lgm_tot_p50" type="real" verbLevel="1"
      description="MPA-JHU log stellar mass p50 (SIMULATED)."/>
    <column name="lgm_tot_p84" type="real" verbLevel="1"
      description="MPA-JHU log stellar mass p84 (SIMULATED)."/>
    <column name="sfr_tot_p16" type="real" verbLevel="1"
      description="MPA-JHU log SFR p16 (SIMULATED)."/>
    <column name="sfr_tot_p50" type="real" verbLevel="1"
      description="MPA-JHU log SFR p50 (SIMULATED)."/>
    <column name="sfr_tot_p84" type="real" verbLevel="1"
      description="MPA-JHU log SFR p84 (SIMULATED)."/>
    <column name="specsfr_tot_p50" type="real" verbLevel="1"
      description="log specific SFR (SIMULATED)."/>
    <column name="oh_p16" type="real" verbLevel="1"
      description="12 + log O/H p16, -9999 when not measured (SIMULATED)."/>
    <column name="oh_p50" type="real" verbLevel="1"
      description="12 + log O/H p50, -9999 when not measured (SIMULATED)."/>
    <column name="oh_p84" type="real" verbLevel="1"
      description="12 + log O/H p84, -9999 when not measured (SIMULATED)."/>
  </table>
  <table id="galspecline" onDisk="True" adql="True">
    <meta name="description">MPA-JHU galSpecLine.</meta>
    <primary>specobjid</primary>
    <column name="specobjid" type="bigint" ucd="meta.id" verbLevel="1"
      description="Spectroscopic object id (CAS specObjID)."/>
    <column name="sigma_balmer" type="real" unit="km/s" verbLevel="1"
      description="Balmer line width."/>
    <column name="sigma_forbidden" type="real" unit="km/s" verbLevel="1"
      description="Forbidden line width."/>
    <column name="h_alpha_flux" type="real" unit="1e-17erg/(s.cm**2)" ucd="phot.flux" verbLevel="1"
      description="h_alpha flux."/>
    <column name="h_alpha_flux_err" type="real" unit="1e-17erg/(s.cm**2)" ucd="stat.error" verbLevel="1"
      description="h_alpha flux error."/>
    <column name="h_beta_flux" type="real" unit="1e-17erg/(s.cm**2)" ucd="phot.flux" verbLevel="1"
      description="h_beta flux."/>
    <column name="h_beta_flux_err" type="real" unit="1e-17erg/(s.cm**2)" ucd="stat.error" verbLevel="1"
      description="h_beta flux error."/>
    <column name="nii_6584_flux" type="real" unit="1e-17erg/(s.cm**2)" ucd="phot.flux" verbLevel="1"
      description="nii_6584 flux."/>
    <column name="nii_6584_flux_err" type="real" unit="1e-17erg/(s.cm**2)" ucd="stat.error" verbLevel="1"
      description="nii_6584 flux error."/>
    <column name="oiii_5007_flux" type="real" unit="1e-17erg/(s.cm**2)" ucd="phot.flux" verbLevel="1"
      description="oiii_5007 flux."/>
    <column name="oiii_5007_flux_err" type="real" unit="1e-17erg/(s.cm**2)" ucd="stat.error" verbLevel="1"
      description="oiii_5007 flux error."/>
  </table>
  <data id="import_specphoto">
    <sources pattern="data/specphoto.csv"/>
    <csvGrammar/>
    <make table="specphoto">
      <rowmaker idmaps="*"/>
    </make>
  </data>
  <data id="import_photoobj">
    <sources pattern="data/photoobj.csv"/>
    <csvGrammar/>
    <make table="photoobj">
      <rowmaker idmaps="*"/>
    </make>
  </data>
  <data id="import_galspecinfo">
    <sources pattern="data/galspecinfo.csv"/>
    <csvGrammar/>
    <make table="galspecinfo">
      <rowmaker idmaps="*"/>
    </make>
  </data>
  <data id="import_galspecextra">
    <sources pattern="data/galspecextra.csv"/>
    <csvGrammar/>
    <make table="galspecextra">
      <rowmaker idmaps="*"/>
    </make>
  </data>
  <data id="import_galspecline">
    <sources pattern="data/galspecline.csv"/>
    <csvGrammar/>
    <make table="galspecline">
      <rowmaker idmaps="*"/>
    </make>
  </data>
</resource>
